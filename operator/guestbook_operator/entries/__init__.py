"""The entry controller: the operator's GuestbookEntry half, beside Kopf's Ledger half.

Kopf runs Ledgers (``handlers/``: provisioning, the pool daemons, repair,
audits, witnesses). Entries are too many for Kopf's per-object machinery
(decision 0049), so this package watches and admits them itself; Kopf only
starts and stops it (``handlers/entries.py``). Decision 0147.

- ``controller.py``: ``EntryController``, the watch wiring: one informer per
  watched collection, run while this replica is the active one.
- ``active_replica.py``: whether it is (with peering, while Kopf runs at
  least one Ledger daemon; standalone, always).
- ``admission.py``: ``EntryAdmissions``, what each watch event does.
- ``batcher.py``: ``AdmissionBatcher``, admissions gathered into one
  database transaction per ledger and moment.

One entry, from the watch event to its Pending admission in the database
--------------------------------------------------------------------------
1. A user creates a GuestbookEntry (``kubectl``, the web UI's
   ``POST /entries``). It shows ``phase: Pending`` at once, written by
   nobody: Pending is the CRD's default for ``status`` (decision 0097).
2. The informer of ``EntryController._watch`` (``guestbook_kube.informer``,
   ``keep=False``: nothing is kept per entry) receives ADDED (LISTED when it
   lists: at start, after 410 Gone) on Kopf's event loop and awaits
   ``EntryAdmissions.handle``.
3. ``handle``: ``needs_admission`` says whether the event starts an admission
   (new, or not yet Sealed/Failed in a listing). At most 1,000 run at once;
   beyond that ``handle`` waits, so the informer stops reading and the
   backlog stays in the API server. The admission runs as a task (``_admit``).
4. ``_admit_once``: is the entry's Ledger ready? Kopf's index of Ledgers
   (``handlers/entries.py``, ``ready_ledgers``) answers, a GET of the Ledger
   confirms a "no". Missing: the entry's status says so (Admitted False,
   ``LedgerNotFound``) and the admission looks again every 3 s without
   holding a slot. Every status write follows the one rule of decision 0148
   (``entry_status_writer.entry_status_patch``: a JSON patch testing the uid
   and the resourceVersion it decided from, then the whole status).
5. ``AdmissionBatcher.admit``: the entry waits up to 10 ms for others of its
   ledger (at most 500), then one ``admit_entries`` transaction records them
   all as pending, in a thread of the operator's executor (psycopg is
   synchronous); each entry's outcome comes back to the loop as its future's
   result. The store refuses an entry it can never record: it alone ends
   Failed, with a Warning event.
6. Recorded: ``guestbook_entries_admitted_total`` counts it and
   ``LedgerNudges.nudge`` wakes the Ledger's pool daemon
   (``handlers/pool.py``), which starts or scales the worker Job. A worker
   seals the entry and writes ``phase: Sealed`` by the same rule
   (``worker.py``, ``entry_status_writer.py``).

Deleting an entry that is not Sealed withdraws it from the database (DELETED;
``_withdraw``, in an executor thread). Whatever this path misses (the
operator down, the database down) the repair timer catches
(``handlers/repair.py``).

Threads and event loops on that path: the entry lives on Kopf's event loop
from the watch event to its outcome, except for the database transaction in
an executor thread (one hop there and back per batch, not per entry). Two
hops remain off the common path: a withdrawal (the database, in a thread) and
a Failed entry's Warning event, posted through the synchronous ``Kube`` in a
thread, which runs it on that client's own loop (``entry_status_writer``).
The nudge used to be one more hop (the loop scheduling a call onto itself);
it is set directly now.
"""
