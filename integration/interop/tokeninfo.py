"""Drives the real anaconda-cloud-auth 0.7.2 for the storage interoperability tests
(integration/e2e/storage_python.rs, storage_system.rs).

    python tokeninfo.py load DOMAIN    # TokenInfo.load(DOMAIN) as JSON; exit 3 when not found
    python tokeninfo.py save           # TokenInfo(**JSON on stdin).save()
    python tokeninfo.py secret DOMAIN  # the raw keyring secret stored for DOMAIN (exit 3: none)
    python tokeninfo.py writer N MS    # save a record for writer.example N times, MS ms apart

The keyring backend is whatever `keyring` picks: the tests set PYTHON_KEYRING_BACKEND or
ANACONDA_CLOUD_PREFERRED_TOKEN_STORAGE as the case needs. `load` prints the backend on stderr.
"""

import json
import sys
import time

import keyring
from anaconda_cloud_auth.exceptions import TokenNotFoundError
from anaconda_cloud_auth.token import KEYRING_NAME, TokenInfo


def main(argv):
    command = argv[1]
    if command == "load":
        print(type(keyring.get_keyring()).__name__, file=sys.stderr)
        try:
            info = TokenInfo.load(argv[2])
        except TokenNotFoundError:
            return 3
        print(info.model_dump_json())
    elif command == "save":
        TokenInfo(**json.load(sys.stdin)).save()
    elif command == "secret":
        secret = keyring.get_password(KEYRING_NAME, argv[2])
        if secret is None:
            return 3
        print(secret)
    elif command == "writer":
        for i in range(int(argv[2])):
            TokenInfo(domain="writer.example", api_key=f"writer-key-{i}").save()
            time.sleep(int(argv[3]) / 1000)
    else:
        print(f"unknown command {command!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
