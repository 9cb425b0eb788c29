"""A real Kubernetes control plane on one machine, with a process kubelet.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the
upstream binaries built from their Go modules (:mod:`.upstream`), started as
child processes (:mod:`.controlplane`); the one part upstream cannot give
without a container runtime, the kubelet, is the project's own
(:mod:`.kubelet`): it runs pods as local processes in environments built
exactly as their images are (:mod:`.images`).
"""
