# syntax=docker/dockerfile:1
# The GPU worker image (overlays/gpu): a CUDA runtime base (cuDNN and NCCL included) and a CUDA libtorch.
#   docker build -f k8s/docker/worker-cuda.Dockerfile -t orchestrator/worker:0.1.0-cuda .
# Not built in CI (no Docker engine there); see docs/KUBERNETES.md.
#
# libtorch: TorchBackend=cuda restores TorchSharp-cuda-linux from nuget.org, whose libtorch is built for CUDA 12.8
# (TorchSharp 0.107.0 / libtorch 2.10), hence the 12.8 base. To use an existing PyTorch's libtorch instead, build
# with --build-arg TORCH_BACKEND=external and set ORCH_LIBTORCH to its torch/lib folder at run time.
# The publish is self-contained: the CUDA base has no .NET runtime.

ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH_BACKEND=cuda
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish Cli/Cli.csproj -c Release -o /out -p:TorchBackend=${TORCH_BACKEND} --self-contained true --nologo

FROM ${CUDA_IMAGE} AS final
# The same non-root uid as the .NET images (1654), so one securityContext fits every pod.
RUN useradd --uid 1654 --user-group --create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /out /app
RUN ln -s /app/Orchestrator.Cli /usr/local/bin/orch
# NVLink multicast stays off unless a node is known to support it safely (the manifests set it too).
ENV NCCL_NVLS_ENABLE=0
USER 1654
EXPOSE 11111
ENTRYPOINT ["orch"]
# Without arguments (docker run IMAGE) it reports what it finds; the manifests pass the real command.
CMD ["doctor"]
