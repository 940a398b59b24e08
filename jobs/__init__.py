"""The jobs layer: one function per ``storefront`` command, and the main job.

Each job takes plain arguments (paths, options), loads its settings, runs the domain
packages with progress shown on stderr, and returns a report the caller prints or
asserts on. Jobs never print results: ``cli/`` does. Imports run downward only: jobs use
the domain packages (``features``, ``training``, ``experiments``, ``simulator``,
``loaders``) and the kernel (``storefront``); nothing below imports ``jobs``.
"""
