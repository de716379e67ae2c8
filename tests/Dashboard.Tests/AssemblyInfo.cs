// Every test here starts real processes (a local cluster, a coordinator, a browser): one at a time on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
