"""A whole branch as real processes, for the participant's journey end to end."""
