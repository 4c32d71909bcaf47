"""Customer data under control: pseudonyms at ingest, the encrypted link store, erasure requests, retention.

* `pseudonyms`: the keyed hash that replaces every customer id before the lake and the warehouse see it;
* `links`: the one place the pseudonym -> source id link lives, a Fernet-encrypted file outside the warehouse;
* `erasure`: the request log `daybreak privacy erase` appends to, and what the next night does with it;
* `retention`: the nightly removal of landed files older than the dataset's `landing.retention_days`;
* `local_keys`: the keys `daybreak demo` generates for a fresh local data home.

docs/privacy.md says what is stored where, for how long, and how a request is handled.
"""
