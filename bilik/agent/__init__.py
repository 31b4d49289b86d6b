"""The skeleton every device agent shares: the booth, the officer hub, the kiosk, the display.

- :mod:`bilik.agent.settings`: the device connection settings (``server``, ``token``,
  ``token_file``, ``id``), the base of each agent's config, and their command-line flags,
  declared once;
- :mod:`bilik.agent.token`: reading the device's own token from its setting or its file;
- :mod:`bilik.agent.serve`: the serve loop (start, wait for the server's welcome, run until
  Ctrl-C or SIGTERM, stop), one for the four agents.

Connecting, the identity check (the token must name the configured device) and reconnecting
with backoff are the signaling client's (``signaling/client.py``); the agents' background
tasks are a :class:`bilik.tasks.TaskSet`.
"""
