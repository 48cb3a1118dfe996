"""Step 1, parse: what AWS delivers, as typed models (events), one reader of CloudTrail records (watcher events and
LookupEvents alike), the calls that tamper with the responder, one answer per Health notice. Bad input is refused
naming the field."""
