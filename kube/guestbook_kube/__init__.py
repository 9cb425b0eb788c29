"""Kubernetes access for every Guestbook Ledger component (decision 0140).

- ``resources``: the API group, version, kinds, plurals, labels and defaults;
- ``credentials``: the one credentials loader (in-cluster, then kubeconfig);
- ``client``: the one asynchronous REST client;
- ``informer``: the one list-then-watch loop;
- ``crds``: where the CustomResourceDefinition manifests are.

Nothing here knows the ledger format or the database.
"""
