"""Test helpers that ship with the package: a test PKI, a local SMP and DNS responder, a revocation server.

They are real implementations on loopback (real certificates, real HTTP/HTTPS and DNS over UDP), used by
this project's tests and by the chain-test harness; nothing here is meant for production traffic.
"""
