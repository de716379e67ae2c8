# syntax=docker/dockerfile:1
# The CPU worker image (laptop clusters, overlays/cpu): `orch` with the CPU libtorch from NuGet.
#   docker build -f k8s/docker/worker-cpu.Dockerfile -t orchestrator/worker:0.1.0-cpu .
# Not built in CI (no Docker engine there); see docs/KUBERNETES.md.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish Cli/Cli.csproj -c Release -o /out -p:TorchBackend=cpu --nologo

# The sdk and runtime images share one distribution, so the GLIBCXX check the build made (Directory.Build.targets)
# holds here too.
FROM mcr.microsoft.com/dotnet/runtime:10.0 AS final
WORKDIR /app
COPY --from=build /out /app
RUN ln -s /app/Orchestrator.Cli /usr/local/bin/orch
USER $APP_UID
EXPOSE 11111
ENTRYPOINT ["orch"]
# Without arguments (docker run IMAGE) it reports what it finds; the manifests pass the real command.
CMD ["doctor"]
