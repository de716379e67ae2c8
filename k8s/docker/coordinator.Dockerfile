# syntax=docker/dockerfile:1
# The coordinator image: `orch` on the plain .NET runtime, without libtorch (the coordinator never runs tensors,
# so TorchBackend=external leaves the 600 MB CPU libtorch out). Build from the repository root:
#   docker build -f k8s/docker/coordinator.Dockerfile -t orchestrator/coordinator:0.1.0 .
# Not built in CI (no Docker engine there); see docs/KUBERNETES.md. The publish command itself was checked on the
# dev machine: about 55 MB, TorchSharp.dll without libtorch; `orch workers scale` ran from it.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish Cli/Cli.csproj -c Release -o /out -p:TorchBackend=external --nologo

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS final
WORKDIR /app
COPY --from=build /out /app
RUN ln -s /app/Orchestrator.Cli /usr/local/bin/orch
# The runtime images ship a non-root 'app' user (uid 1654); the manifests' securityContext expects it.
USER $APP_UID
EXPOSE 11111 30000
ENTRYPOINT ["orch"]
# Without arguments (docker run IMAGE) it prints the commands; the manifests pass the real one. (`orch doctor`
# exits 1 here by design: this image has no libtorch.)
CMD ["--help"]
