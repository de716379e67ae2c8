// Every test here starts a cluster of real processes; on a 2-core machine, running them side by side starves the
// silos' failure-detection probes and live workers get declared dead. One at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
