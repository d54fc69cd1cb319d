"""CLI commands, one module per command group; each exposes ``register(subparsers)``.

A command module imports nothing heavy at import time (argparse only); its handler
imports the library code it calls, so ``normalkit --help`` stays instant.
"""
