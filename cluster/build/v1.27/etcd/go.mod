// Wrapper module: builds etcd v3.5.12 from the Go module proxy. go.etcd.io/etcd/server/v3 replaces its sibling
// modules with ../ paths, which do not exist in the module zip; each is replaced here by its v3.5.12 release.
module numbercrunch.local/cluster/etcd

go 1.20

require go.etcd.io/etcd/server/v3 v3.5.12

replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.5.12
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 v3.5.12
	go.etcd.io/etcd/client/v2 => go.etcd.io/etcd/client/v2 v2.305.12
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v3.5.12
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 v3.5.12
	go.etcd.io/etcd/raft/v3 => go.etcd.io/etcd/raft/v3 v3.5.12
)
