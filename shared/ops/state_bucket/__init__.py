"""What lives in an environment's state bucket beside its states. By concept:

- bucket.py         StateBucket: the key layout, and get/put/delete of one object ("absent" decided once)
- bootstrap.py      the bucket and its key created or put right, idempotently
- fingerprint.py    what each stack was last applied from, and producers' states read directly
- releases.py       which revision and image runs in the environment, one record per deploy or destroy
- state_lock.py     the engine's lock on one stack's state, as the bucket holds it and the engine names it
- protection.py     what lives at the location and whether it is protected, whatever a file now says
- errored_state.py  a state the engine could not save, refused everywhere until it is pushed back
"""
