"""Personal share links (`/r/<code>`): one per co-signer, per confirmed
signer and per donor of an appeal; the visits through each (once per visitor
a day, by a keyed hash only) and which signatures and gifts they brought."""
