"""SMS, the second channel of the engine (issue #14): how a text is cut into SMS segments, and
(next) the providers' HTTP APIs, SMS accounts and their delivery receipts."""
