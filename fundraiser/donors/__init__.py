"""The donor's own side: a magic-link portal (their gifts, their contact
preference) and erase-my-data. Entry point floor: it reads donations and
pledges and writes the staff audit log, and nothing below imports it."""
