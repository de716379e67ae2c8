namespace Orchestrator.Cli.Hosting;

/// <summary>
/// Run and sweep ids as people type them: the whole id, a prefix of one id, or the name of one. Invariant: a
/// console command acts on exactly the thing meant or on nothing: an ambiguous prefix or name is an error that lists
/// the matches (exit 2), never a guess.
/// </summary>
public static class IdResolver
{
    public static string Resolve(string given, IReadOnlyCollection<(string Id, string Name)> known, string what)
    {
        if (known.Any(k => k.Id == given)) return given;
        var byPrefix = known.Where(k => k.Id.StartsWith(given, StringComparison.Ordinal)).Select(k => k.Id).ToList();
        if (byPrefix.Count == 1) return byPrefix[0];
        if (byPrefix.Count > 1) throw new BadInputException($"{what} '{given}' is ambiguous: it begins {Listed(byPrefix)}; give more of the id");
        var byName = known.Where(k => k.Name == given).Select(k => k.Id).ToList();
        if (byName.Count == 1) return byName[0];
        if (byName.Count > 1) throw new BadInputException($"{what} name '{given}' is ambiguous: {Listed(byName)} carry it; give the id");
        throw new BadInputException($"no {what} '{given}' (`orch {what} list` shows the {what}s)");
    }

    static string Listed(List<string> ids) =>
        $"{ids.Count} ids ({string.Join(", ", ids.Order(StringComparer.Ordinal).Take(10))}{(ids.Count > 10 ? ", ..." : "")})";
}
