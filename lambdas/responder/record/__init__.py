"""What outlives an invocation: the launch ledger and the incidents table (store), earlier attempts, one incident
per compromise (joining), an organization sweep's account parts, the notification and the Security Hub finding."""
