using System.CommandLine;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Orchestrator.Cli.Hosting;
using Orchestrator.Sharding.Interop;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Orchestrator.Cli.Commands;

/// <summary>`orch doctor [--json] [--smoke] [--redis CONN]`: what this machine can run, and optionally a GPU smoke test.</summary>
public static class DoctorCommand
{
    public sealed record Report(
        string Dotnet, string Os, string Torchsharp, string? Libtorch, bool Cuda, int Devices, bool Cudnn,
        string? Nccl, string? NcclError, string? Redis, string? TorchError, Smoke? Smoke);

    public sealed record Smoke(string Device, int MatmulSize, string Dtype, double MatmulTflops, double SdpaMs, bool SdpaBackwardOk,
        double SdpaForwardMs, bool? FlashOnlyOk, string? FlashOnlyError);

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON document" };
        var smoke = new Option<bool>("--smoke") { Description = "Run a smoke test: matmul TFLOP/s and SDPA forward+backward (bf16 on CUDA)" };
        var redis = new Option<string?>("--redis") { Description = "Redis connection (host:port) to check; default $ORCH_REDIS" };
        var cmd = new Command("doctor", "Check .NET, TorchSharp, libtorch, CUDA, NCCL and Redis") { json, smoke, redis };
        CliAction.Set(cmd, pr =>
        {
            var report = Collect(pr.GetValue(smoke), pr.GetValue(redis) ?? Environment.GetEnvironmentVariable("ORCH_REDIS"));
            if (pr.GetValue(json)) JsonOutput.Write(report);
            else Print(report);
            return report.TorchError is null ? CliAction.Ok : CliAction.Failure;
        });
        return cmd;
    }

    public static Report Collect(bool runSmoke, string? redis)
    {
        string torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        TorchRuntimeInfo? info = null;
        string? torchError = null;
        try { info = TorchRuntime.Initialize(); }
        catch (TorchRuntimeException e) { torchError = e.Message; }
        var nccl = NcclVersion.TryGet(out var ncclError);
        Smoke? smoke = runSmoke && info is not null ? RunSmoke(info.Cuda) : null;
        return new Report(
            Dotnet: RuntimeInformation.FrameworkDescription,
            Os: RuntimeInformation.OSDescription,
            Torchsharp: info?.TorchSharpVersion ?? torchsharp,
            Libtorch: info?.LibTorchPath,
            Cuda: info?.Cuda ?? false,
            Devices: info?.Devices ?? 0,
            Cudnn: info?.Cudnn ?? false,
            Nccl: nccl,
            NcclError: ncclError,
            Redis: redis is null ? null : PingRedis(redis),
            TorchError: torchError,
            Smoke: smoke);
    }

    /// <summary>Matmul TFLOP/s (bf16 8192^3 on CUDA, fp32 512^3 on CPU) and causal SDPA forward + backward.</summary>
    static Smoke RunSmoke(bool cuda)
    {
        var device = cuda ? CUDA : CPU;
        var dtype = cuda ? ScalarType.BFloat16 : ScalarType.Float32;
        int n = cuda ? 8192 : 512;
        using var scope = NewDisposeScope();
        var a = randn([n, n], dtype: dtype, device: device);
        var b = randn([n, n], dtype: dtype, device: device);
        for (int i = 0; i < 3; i++) matmul(a, b).Dispose();
        Sync(cuda);
        int reps = cuda ? 20 : 5;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) matmul(a, b).Dispose();
        Sync(cuda);
        double tflops = 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds / 1e12;

        long B = cuda ? 8 : 2, H = cuda ? 12 : 2, T = cuda ? 1024 : 64, D = 64;
        var q = randn([B, H, T, D], dtype: dtype, device: device).requires_grad_();
        var k = randn([B, H, T, D], dtype: dtype, device: device).requires_grad_();
        var v = randn([B, H, T, D], dtype: dtype, device: device).requires_grad_();
        nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true).sum().backward();
        Sync(cuda);
        sw.Restart();
        for (int i = 0; i < 10; i++)
        {
            // A scope per iteration frees the output and its gradient at once, as PyTorch's refcounting does;
            // without it every iteration allocates fresh GPU memory until the end.
            using var step = NewDisposeScope();
            q.grad?.zero_();
            nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true).sum().backward();
        }
        Sync(cuda);
        var fwdBwdMs = sw.Elapsed.TotalMilliseconds / 10;
        var ok = q.grad is not null && !q.grad.isnan().any().item<bool>();
        double fwdMs;
        using (no_grad())
        {
            nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true).Dispose();
            Sync(cuda);
            sw.Restart();
            for (int i = 0; i < 10; i++) nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true).Dispose();
            Sync(cuda);
            fwdMs = sw.Elapsed.TotalMilliseconds / 10;
        }
        // With the math kernel switched off SDPA must find a fused (flash) kernel or say why not.
        bool? flashOk = null;
        string? flashError = null;
        if (cuda)
        {
            torch.backends.cuda.enable_math_sdp(false);
            try
            {
                nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true).sum().backward();
                Sync(cuda);
                flashOk = true;
            }
            catch (Exception e)
            {
                flashOk = false;
                flashError = e.Message.Split('\n')[0];
            }
            finally
            {
                torch.backends.cuda.enable_math_sdp(true);
            }
        }
        return new Smoke(cuda ? "cuda" : "cpu", n, cuda ? "bf16" : "fp32", Math.Round(tflops, 1),
            Math.Round(fwdBwdMs, 3), ok, Math.Round(fwdMs, 3), flashOk, flashError);
    }

    static void Sync(bool cuda)
    {
        if (cuda) torch.cuda.synchronize();
    }

    static string PingRedis(string conn)
    {
        var hostPort = conn.Split(',')[0];
        var colon = hostPort.LastIndexOf(':');
        var host = colon > 0 ? hostPort[..colon] : hostPort;
        var port = colon > 0 && int.TryParse(hostPort[(colon + 1)..], out var p) ? p : 6379;
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync(host, port).Wait(TimeSpan.FromSeconds(2))) return $"unreachable: {host}:{port} (timeout)";
            var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buf = new byte[64];
            stream.ReadTimeout = 2000;
            var read = stream.Read(buf);
            var reply = Encoding.ASCII.GetString(buf, 0, read).Trim();
            return reply == "+PONG" ? $"ok: {host}:{port}" : $"unexpected reply from {host}:{port}: {reply}";
        }
        catch (Exception e) when (e is SocketException or AggregateException or IOException)
        {
            return $"unreachable: {host}:{port} ({e.GetBaseException().Message})";
        }
    }

    static void Print(Report r)
    {
        var t = new Table().AddColumn("check").AddColumn("result");
        t.AddRow(".NET", Markup.Escape(r.Dotnet));
        t.AddRow("OS", Markup.Escape(r.Os));
        t.AddRow("TorchSharp", Markup.Escape(r.Torchsharp));
        t.AddRow("libtorch", Markup.Escape(r.Libtorch ?? "not loaded"));
        if (r.TorchError is not null) t.AddRow("[red]torch error[/]", Markup.Escape(r.TorchError));
        t.AddRow("CUDA", r.Cuda ? $"yes, {r.Devices} device(s), cuDNN {(r.Cudnn ? "yes" : "no")}" : "no");
        t.AddRow("NCCL", Markup.Escape(r.Nccl ?? "not found: " + r.NcclError));
        if (r.Redis is not null) t.AddRow("Redis", Markup.Escape(r.Redis));
        if (r.Smoke is { } s)
        {
            t.AddRow("matmul", $"{s.MatmulSize}^3 {s.Dtype} on {s.Device}: {s.MatmulTflops} TFLOP/s");
            t.AddRow("SDPA fwd+bwd", $"{s.SdpaMs} ms, backward {(s.SdpaBackwardOk ? "ok" : "FAILED")}");
        }
        AnsiConsole.Write(t);
    }
}
