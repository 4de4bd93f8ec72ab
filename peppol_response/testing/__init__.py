"""Test helpers that ship with the package, real implementations on loopback (nothing here carries production traffic).

* :mod:`.pki` — a test PKI shaped like Peppol's G3 (and a key cache so it is made in a second);
* :mod:`.smp_server` — a local SMP over HTTPS and a NAPTR DNS responder; :mod:`.revocation` — CRL/OCSP servers;
* :mod:`.loopback`, :mod:`.inprocess` — the AS4 service under uvicorn in a thread, or in-process;
* :mod:`.network` — a complete local Peppol network (PKI, SML/DNS, SMP, two access points, a seller and a buyer
  with trackers) and its drivers; :mod:`.scenario` — status scenarios with expectations and reports;
  :mod:`.invoices` — BIS Billing 3 invoices for tests; :mod:`.pytest_plugin` — the ``peppol_network``,
  ``seller`` and ``buyer`` fixtures (a ``pytest11`` entry point). See ``docs/chain-tests.md``.

Importing this package imports none of them: each is imported when used.
"""
