module numbercrunch.local/cluster/loadgen

go 1.22
