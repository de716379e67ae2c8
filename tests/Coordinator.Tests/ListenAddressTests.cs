using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orchestrator.Coordinator.Hosting;
using Orleans.Configuration;

namespace Orchestrator.Tests.Coordinator;

/// <summary>A cluster-mode silo listens on the address it advertises (and prints), not on every interface.</summary>
public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    public void Cluster_mode_listens_only_on_the_advertised_address(string address)
    {
        var settings = new SiloSettings
        {
            Name = "coordinator", IsCoordinator = true, Redis = "127.0.0.1:1", SiloPort = 21113, GatewayPort = 31003,
            Advertise = IPAddress.Parse(address), Token = ClusterToken.Generate(),
        };
        var builder = Host.CreateApplicationBuilder([]);
        builder.UseOrleans(silo => silo.Configure(settings));
        using var host = builder.Build(); // never started: nothing connects to Redis
        var o = host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        var ip = IPAddress.Parse(address);
        Assert.Equal(new IPEndPoint(ip, 21113), o.SiloListeningEndpoint ?? new IPEndPoint(o.AdvertisedIPAddress, o.SiloPort));
        Assert.Equal(new IPEndPoint(ip, 31003), o.GatewayListeningEndpoint ?? new IPEndPoint(o.AdvertisedIPAddress, o.GatewayPort));
    }
}
