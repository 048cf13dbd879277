"""Django users into jwtd, with a Django from PyPI: makes a fresh `dumpdata` file (new salts,
the newest Django 5.2), imports it with `jwtd user import-django -`, and logs in over HTTP as
each user with the password Django hashed.

    python .ci/django_import.py JWTD_BINARY BASE_URL

The binary and the server must share the database (the JWTD__* environment does that).
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "fixtures", "django")
sys.path.insert(0, FIXTURES)

from make_fixture import PASSWORDS  # noqa: E402

REFUSED = {"md5_user", "inactive_user"}


def login(base, username, password):
    request = urllib.request.Request(
        base + "/api/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    jwtd, base = sys.argv[1], sys.argv[2]
    dump = subprocess.run(
        [sys.executable, os.path.join(FIXTURES, "make_fixture.py")],
        check=True,
        capture_output=True,
    ).stdout
    imported = subprocess.run(
        [jwtd, "user", "import-django", "-"], input=dump, capture_output=True, check=True
    )
    line = imported.stdout.decode().strip()
    users = len(PASSWORDS)
    assert line.startswith(f"imported {users} users: {users} created"), line
    failures, checks = [], 0
    for username, spec in PASSWORDS.items():
        password = "anything" if spec is None else spec[1]
        expected = 401 if spec is None or username in REFUSED else 200
        # Twice: the first login upgrades the Django hash, the second checks the new one.
        for attempt in (1, 2):
            checks += 1
            status = login(base, username, password)
            if status != expected:
                failures.append(f"{username} login {attempt}: {status}, expected {expected}")
        checks += expected == 200
        if expected == 200 and login(base, username, password + "x") != 401:
            failures.append(f"{username}: a wrong password was accepted")
    print(f"{line}\nDjango logins: {checks - len(failures)} passed, {len(failures)} failed")
    for failure in failures:
        print("  " + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
