using System.Reflection;
using System.Runtime.InteropServices;

namespace Orchestrator.Tests.Foundation;

/// <summary>
/// The native facade's conventions, checked over every Orchestrator assembly the CLI loads: every native binding
/// is in Sharding/Interop and private (callers go through the typed wrappers), and no binding takes a raw pointer
/// where the facade has a SafeHandle (a communicator, stream or event), outside the handles' own release calls.
/// </summary>
public sealed class InteropConventionTests
{
    static readonly Assembly[] Assemblies = typeof(Orchestrator.Cli.Commands.CommandCatalog).Assembly.GetReferencedAssemblies()
        .Where(a => a.Name!.StartsWith("Orchestrator.", StringComparison.Ordinal)).Select(Assembly.Load)
        .Append(typeof(Orchestrator.Cli.Commands.CommandCatalog).Assembly).ToArray();

    static IEnumerable<MethodInfo> Bindings() => Assemblies
        .SelectMany(a => a.GetTypes())
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
        .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null || m.GetCustomAttribute<DllImportAttribute>() is not null)
        .Where(m => !m.Name.StartsWith('<')); // the P/Invokes LibraryImport generates inside each binding

    [Fact]
    public void Every_native_binding_is_a_private_member_of_Interop()
    {
        var bindings = Bindings().ToList();
        Assert.Contains(bindings, m => m.Name == "ncclAllReduce");
        Assert.Contains(bindings, m => m.Name == "kill");
        Assert.Empty(bindings.Where(m => m.DeclaringType!.Namespace != "Orchestrator.Sharding.Interop" || !m.IsPrivate)
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}"));
    }

    [Fact]
    public void Communicators_streams_and_events_cross_into_native_code_as_SafeHandles()
    {
        string[] handleNames = ["comm", "stream", "evt", "start", "end"];
        var raw = Bindings()
            .Where(m => !typeof(SafeHandle).IsAssignableFrom(m.DeclaringType)) // a handle's own release takes its raw value
            .SelectMany(m => m.GetParameters().Where(p => handleNames.Contains(p.Name) && p.ParameterType == typeof(nint))
                .Select(p => $"{m.Name}({p.Name})"));
        Assert.Empty(raw);
    }
}
