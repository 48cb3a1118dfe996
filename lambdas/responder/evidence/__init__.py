"""Step 2, evidence: the reads. Describes and the key's owner (probes), who launched what (attribution: the ledger,
then LookupEvents), what the key became (chain), what a contained principal created to come back (backdoors), what
it did (activity), the tags of what it left behind, and the state of the responder's own trail, detector, rules,
functions and topic."""
