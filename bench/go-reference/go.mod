module numbercrunch/bench/goreference

go 1.19
