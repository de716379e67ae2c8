namespace Orchestrator.Worker.Training;

/// <summary>nanoGPT's get_lr: linear warmup to the peak, cosine decay to the floor at the horizon, floor after it.</summary>
public sealed record LrSchedule(double Peak, double Min, int Warmup, int Horizon)
{
    public double At(long step)
    {
        if (step < Warmup) return Peak * (step + 1) / (Warmup + 1);
        if (step >= Horizon) return Min;
        double ratio = (double)(step - Warmup) / Math.Max(1, Horizon - Warmup);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));
        return Min + coeff * (Peak - Min);
    }
}
