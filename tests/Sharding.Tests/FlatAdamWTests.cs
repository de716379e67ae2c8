using Orchestrator.Sharding.Interop;
using Orchestrator.Sharding.Optim;
using static TorchSharp.torch;

namespace Orchestrator.Tests.Sharding;

/// <summary>
/// FlatAdamW's fused path (libtorch's kernel over the decay mask's runs, the clip as its grad_scale) against its
/// element-wise path and against AdamW written out by hand: decay only where the mask is 1, gradients divided by
/// the scale.
/// </summary>
public sealed class FlatAdamWTests
{
    [Fact]
    public void Fused_runs_and_grad_scale_match_the_element_wise_update_and_the_formula()
    {
        TorchRuntime.Initialize();
        var options = new AdamWSettings(Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1);
        // Runs of 1s and 0s of odd lengths, starting and ending with either.
        float[] mask = [1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1];
        var g = new Generator(7);
        using var start = randn(mask.Length, generator: g);
        using var fused = new FlatAdamW(start.clone(), tensor(mask), options, fused: true);
        using var plain = new FlatAdamW(start.clone(), tensor(mask), options, fused: false);
        Assert.True(fused.Fused);
        Assert.False(plain.Fused);
        var master = start.data<float>().ToArray();
        var m = new double[mask.Length];
        var v = new double[mask.Length];
        const double lr = 0.01;
        for (var step = 1; step <= 5; step++)
        {
            using var grad = randn(mask.Length, generator: g);
            float scale = step % 2 == 0 ? 2.5f : 1f; // clipping on even steps
            using var scaleT = full(1, scale);
            var gradHost = grad.data<float>().ToArray();
            fused.Step(grad.clone(), lr, scaleT);
            plain.Step(grad.clone(), lr, scaleT);
            for (var i = 0; i < mask.Length; i++)
            {
                double gi = gradHost[i] / scale;
                if (mask[i] == 1) master[i] *= (float)(1 - lr * options.WeightDecay);
                m[i] = 0.9 * m[i] + 0.1 * gi;
                v[i] = 0.95 * v[i] + 0.05 * gi * gi;
                double mh = m[i] / (1 - Math.Pow(0.9, step)), vh = v[i] / (1 - Math.Pow(0.95, step));
                master[i] -= (float)(lr * mh / (Math.Sqrt(vh) + 1e-8));
            }
            var f = fused.Master.data<float>().ToArray();
            var p = plain.Master.data<float>().ToArray();
            for (var i = 0; i < mask.Length; i++)
            {
                Assert.True(Math.Abs(f[i] - p[i]) <= 1e-6, $"step {step}, element {i}: fused {f[i]}, element-wise {p[i]}");
                Assert.True(Math.Abs(f[i] - master[i]) <= 1e-5, $"step {step}, element {i}: fused {f[i]}, formula {master[i]}");
            }
        }
    }

    [Fact]
    public void Decay_runs_given_directly_update_exactly_as_the_mask_they_describe()
    {
        TorchRuntime.Initialize();
        var options = new AdamWSettings(WeightDecay: 0.1);
        float[] mask = [0, 1, 1, 1, 0, 0, 1, 1, 0];
        var g = new Generator(3);
        using var start = randn(mask.Length, generator: g);
        using var byMask = new FlatAdamW(start.clone(), tensor(mask), options);
        using var byRuns = new FlatAdamW(start.clone(), [(1L, 3L), (6L, 2L)], options);
        for (var step = 0; step < 3; step++)
        {
            using var grad = randn(mask.Length, generator: g);
            byMask.Step(grad.clone(), 0.05);
            byRuns.Step(grad.clone(), 0.05);
        }
        Assert.Equal(byMask.Master.data<float>().ToArray(), byRuns.Master.data<float>().ToArray());
    }

    [Fact]
    public void Decay_runs_out_of_order_or_outside_the_region_are_refused()
    {
        TorchRuntime.Initialize();
        using var master = zeros(8);
        var e = Assert.Throws<ArgumentException>(() => new FlatAdamW(master, [(4L, 2L), (1L, 2L)], new AdamWSettings()));
        Assert.Contains("got (1, 2) after 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => new FlatAdamW(master, [(6L, 4L)], new AdamWSettings()));
        Assert.Contains("inside the region of 8", e.Message);
    }

    [Fact]
    public void Learning_rate_groups_step_each_run_by_its_multiplier_fused_and_element_wise()
    {
        TorchRuntime.Initialize();
        var options = new AdamWSettings(WeightDecay: 0.1);
        // Decayed at 0.25 (μP's hidden matrices), decayed at 1 (embeddings), plain at 1 (biases; also the gaps).
        UpdateRun[] runs = [new(0, 3, true, 0.25), new(3, 2, true), new(7, 4, true, 0.25), new(12, 2, false, 0.5)];
        var lrScale = new double[16];
        var decay = new bool[16];
        Array.Fill(lrScale, 1.0);
        foreach (var r in runs)
            for (var i = r.Offset; i < r.Offset + r.Length; i++) { lrScale[i] = r.LrScale; decay[i] = r.Decay; }
        var g = new Generator(5);
        using var start = randn(16, generator: g);
        using var fused = new FlatAdamW(start.clone(), runs, options, fused: true);
        using var plain = new FlatAdamW(start.clone(), runs, options, fused: false);
        Assert.Equal([(true, 0.25, 7L), (true, 1.0, 2L), (false, 0.5, 2L), (false, 1.0, 5L)], fused.Groups);
        var master = start.data<float>().ToArray();
        var m = new double[16];
        var v = new double[16];
        for (var step = 1; step <= 4; step++)
        {
            double lr = 0.02 * step;
            using var grad = randn(16, generator: g);
            var gradHost = grad.data<float>().ToArray();
            fused.Step(grad.clone(), lr);
            plain.Step(grad.clone(), lr);
            for (var i = 0; i < 16; i++)
            {
                double lri = lr * lrScale[i];
                if (decay[i]) master[i] *= (float)(1 - lri * options.WeightDecay);
                m[i] = 0.9 * m[i] + 0.1 * gradHost[i];
                v[i] = 0.95 * v[i] + 0.05 * gradHost[i] * gradHost[i];
                double mh = m[i] / (1 - Math.Pow(0.9, step)), vh = v[i] / (1 - Math.Pow(0.95, step));
                master[i] -= (float)(lri * mh / (Math.Sqrt(vh) + 1e-8));
            }
            var f = fused.Master.data<float>().ToArray();
            var p = plain.Master.data<float>().ToArray();
            for (var i = 0; i < 16; i++)
            {
                Assert.True(Math.Abs(f[i] - master[i]) <= 1e-5, $"step {step}, element {i}: fused {f[i]}, formula {master[i]}");
                Assert.True(Math.Abs(p[i] - master[i]) <= 1e-5, $"step {step}, element {i}: element-wise {p[i]}, formula {master[i]}");
            }
        }
        var bad = Assert.Throws<ArgumentException>(() => new FlatAdamW(zeros(4), [new UpdateRun(0, 2, true, 0)], options));
        Assert.Contains("multiplier 0 must be a positive number", bad.Message);
    }
}
