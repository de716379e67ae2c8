using Orchestrator.Cli.Hosting;

namespace Orchestrator.Tests.Foundation;

/// <summary>What `error:` prints for libtorch's failures: one line, no C++ backtrace, and for GPU memory what to change.</summary>
public sealed class ErrorTextTests
{
    // The shape of libtorch 2.11's message, as orch train printed it on an H200 (2026-11-23, bench/zero3_big.sh's DDP run).
    const string Oom =
        "CUDA out of memory. Tried to allocate 18.39 GiB. GPU 0 has a total capacity of 139.80 GiB of which 5.93 GiB is free. " +
        "Including non-PyTorch memory, this process has 133.86 GiB memory in use. Of the allocated memory 128.75 GiB is allocated " +
        "by PyTorch, and 3.76 GiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting " +
        "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management\n" +
        "Exception raised from malloc at /pytorch/c10/cuda/CUDACachingAllocator.cpp:1574 (most recent call first):\n" +
        "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9d (0x7ea53a29f05d in libc10.so)\n";

    [Fact]
    public void Out_of_memory_is_one_line_that_says_what_to_change()
    {
        var text = CliAction.Describe(Oom);
        Assert.DoesNotContain("\n", text);
        Assert.DoesNotContain("frame #0", text);
        Assert.StartsWith("CUDA out of memory. Tried to allocate 18.39 GiB.", text);
        Assert.Contains("--zero 3 with --nproc N", text);
        Assert.Contains("lower --batch", text);
    }

    [Fact]
    public void A_libtorch_backtrace_is_cut_and_other_messages_are_kept_whole()
    {
        Assert.Equal("shape '[2, 3]' is invalid for input of size 5",
            CliAction.Describe("shape '[2, 3]' is invalid for input of size 5\nException raised from infer_size_impl at aten/src/ATen/InferSize.h:74 (most recent call first):\nframe #0: x"));
        Assert.Equal("--steps 0: must be at least 1", CliAction.Describe("--steps 0: must be at least 1"));
        Assert.Equal("two lines joined", CliAction.Describe("two lines\njoined"));
    }
}
