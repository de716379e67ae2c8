namespace Orchestrator.Experiments.Fitting;

/// <summary>One finished run: non-embedding parameters N, training tokens D, final (validation) loss.</summary>
public readonly record struct ScalingPoint(double N, double D, double Loss);
