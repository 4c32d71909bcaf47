"""The privacy key service: pseudonyms at ingest and the encrypted link store, which the rest of Daybreak calls.

* `pseudonyms`: the keyed hash that replaces every customer id before the lake and the warehouse see it;
* `links`: the one place the pseudonym -> source id link lives, a Fernet-encrypted file outside the warehouse;
* `local_keys`: the keys `daybreak demo` generates for a fresh local data home.

The nightly privacy step that uses them is in `daybreak.nights`: `erasure` (the request log `daybreak privacy
erase` appends to, and what the next night does with it), `scrub` (removing a customer from files) and
`retention` (removing landed files older than `landing.retention_days`). docs/privacy.md says what is stored
where, for how long, and how a request is handled.
"""
