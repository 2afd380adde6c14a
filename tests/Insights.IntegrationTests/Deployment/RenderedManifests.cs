using System.Diagnostics;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Insights.IntegrationTests.Deployment;

/// <summary>
/// The Kubernetes example overlay as <c>kubectl kustomize</c> renders it: the file scripts/test.sh rendered
/// (<c>INSIGHTS_TEST_K8S_RENDERED</c>), else rendered here.
/// </summary>
public sealed class RenderedManifests
{
    public const string Overlay = "deploy/k8s/overlays/example";

    private RenderedManifests(List<YamlMappingNode> objects) => Objects = objects;

    public IReadOnlyList<YamlMappingNode> Objects { get; }

    public static RenderedManifests Load()
    {
        var rendered = System.Environment.GetEnvironmentVariable("INSIGHTS_TEST_K8S_RENDERED");
        var text = !string.IsNullOrWhiteSpace(rendered) ? File.ReadAllText(rendered) : Render();
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return new RenderedManifests(stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList());
    }

    public YamlMappingNode Named(string kind, string name) =>
        Objects.SingleOrDefault(o => Text(o, "kind") == kind && Text(o, "metadata", "name") == name)
        ?? throw new Xunit.Sdk.XunitException($"The overlay renders no {kind} named {name}.");

    public IEnumerable<YamlMappingNode> OfKind(string kind) => Objects.Where(o => Text(o, "kind") == kind);

    /// <summary>The mapping or sequence or scalar at <paramref name="path"/> (keys of mappings), or null.</summary>
    public static YamlNode? At(YamlNode node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    public static string? Text(YamlNode node, params string[] path) => (At(node, path) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Items(YamlNode node, params string[] path) => At(node, path) is YamlSequenceNode s ? s.Children : [];

    public static IEnumerable<(string Key, YamlNode Value)> Entries(YamlNode node, params string[] path) =>
        At(node, path) is YamlMappingNode m ? m.Children.Select(c => (((YamlScalarNode)c.Key).Value!, c.Value)) : [];

    /// <summary>The environment a Deployment's first container gets: its ConfigMap and Secret (decoded), then its own env.</summary>
    public Dictionary<string, string> Environment(YamlMappingNode deployment)
    {
        var container = Container(deployment);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in Items(container, "envFrom"))
        {
            if (Text(source, "configMapRef", "name") is { } configMap)
            {
                foreach (var (key, value) in Entries(Named("ConfigMap", configMap), "data"))
                {
                    environment[key] = ((YamlScalarNode)value).Value!;
                }
            }

            if (Text(source, "secretRef", "name") is { } secret)
            {
                foreach (var (key, value) in Entries(Named("Secret", secret), "data"))
                {
                    environment[key] = Encoding.UTF8.GetString(Convert.FromBase64String(((YamlScalarNode)value).Value!.Replace("\n", "", StringComparison.Ordinal)));
                }
            }
        }

        foreach (var variable in Items(container, "env"))
        {
            environment[Text(variable, "name")!] = Text(variable, "value") ?? "";
        }

        return environment;
    }

    public static YamlMappingNode Container(YamlMappingNode deployment) =>
        (YamlMappingNode)Items(deployment, "spec", "template", "spec", "containers").Single();

    /// <summary>The container port a probe or Service names (by name or number).</summary>
    public static int Port(YamlMappingNode container, string nameOrNumber) =>
        int.TryParse(nameOrNumber, out var number)
            ? number
            : Items(container, "ports").Where(p => Text(p, "name") == nameOrNumber).Select(p => int.Parse(Text(p, "containerPort")!, System.Globalization.CultureInfo.InvariantCulture))
                .SingleOrDefault(-1);

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Insights.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository (Insights.sln) is not above " + AppContext.BaseDirectory);
    }

    private static string Render()
    {
        var start = new ProcessStartInfo("kubectl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot(),
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(Overlay);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                "kubectl is not installed: run the tests with scripts/test.sh (it renders the overlay and sets INSIGHTS_TEST_K8S_RENDERED), or install kubectl.", e);
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output.Result : throw new InvalidOperationException($"kubectl kustomize {Overlay} failed: {error}");
        }
    }
}
