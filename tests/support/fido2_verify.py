"""A second, independent WebAuthn verifier: the server side of Yubico's
`fido2` package (PyPI). The browser tests hand it the options the engine
wrote and the answers Chromium produced; it checks each one by itself and
says whether it accepts it, so the engine's verdicts can be compared with
another implementation's.

stdin:  {"rp_id": "...", "origin": "...", "ceremonies": [
           {"kind": "create" | "get", "options": {...}, "response": {...}}, ...]}
stdout: [{"kind": ..., "accepted": true | false, "reason": "..."}, ...]

Registrations are verified first, in order; their credentials are the ones
later assertions may use (as a relying party would have stored them).
"""
import json
import sys

from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity


def main() -> None:
    job = json.load(sys.stdin)
    rp = PublicKeyCredentialRpEntity(id=job["rp_id"], name="independent check")
    origin = job["origin"]
    server = Fido2Server(rp, verify_origin=lambda o: o == origin)
    credentials = []
    verdicts = []
    for c in job["ceremonies"]:
        options = c["options"]
        state = {
            "challenge": options["challenge"],
            "user_verification": (
                options.get("authenticatorSelection", {}).get("userVerification")
                if c["kind"] == "create"
                else options.get("userVerification")
            ),
        }
        try:
            if c["kind"] == "create":
                auth_data = server.register_complete(state, c["response"])
                credentials.append(auth_data.credential_data)
            else:
                server.authenticate_complete(state, credentials, c["response"])
            verdicts.append({"kind": c["kind"], "accepted": True, "reason": ""})
        except Exception as e:  # every refusal is a verdict, with its reason
            verdicts.append({"kind": c["kind"], "accepted": False, "reason": str(e)})
    json.dump(verdicts, sys.stdout)


if __name__ == "__main__":
    main()
