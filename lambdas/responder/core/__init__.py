"""The vocabulary every step shares, pure: the domain model, settings, ARNs and partitions, time, sizes, the
declarations of AWS calls (capabilities) and the fixed names and keys of the responder's own resources."""
