"""The one notification path (ARCHITECTURE §4): in the app and by e-mail, per member and per
preference, written in the transaction of the change it tells about. See docs/notifications.md.
"""
