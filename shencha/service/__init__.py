"""The one service layer: every action a person or a client system can take.

The web app (`ui/`), the CLI's account and audit commands and the REST API
call these functions and nothing else. Each function takes the acting
`User`, re-reads it from the store and checks the permission (and, for a
case, recusal) itself, so no caller can skip a check by not asking.
Modules are layered; a module imports only those below it (the
import-linter contract in pyproject.toml holds CI to that).
"""
