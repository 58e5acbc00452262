package scimevidence.esnode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.elasticsearch.Build;
import org.elasticsearch.ResourceNotFoundException;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.ClusterStateUpdateTask;
import org.elasticsearch.cluster.metadata.DataStream;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.metadata.MetadataDataStreamsService;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.routing.RerouteService;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.Priority;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.regex.Regex;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.index.Index;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

/**
 * REST endpoints whose distribution modules (rest-root, data-streams) are not published as jars:
 * GET|HEAD /, GET /_data_stream[/{name}], DELETE /_data_stream/{name} (names: comma list, * wildcards).
 */
public class EsNodeRestPlugin extends Plugin implements ActionPlugin {
    private volatile ClusterService clusterService;
    private volatile RerouteService rerouteService;
    private volatile Settings nodeSettings;

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService = services.clusterService();
        rerouteService = services.rerouteService();
        nodeSettings = services.environment().settings();
        return List.of();
    }

    @Override
    public Collection<RestHandler> getRestHandlers(Settings settings, NamedWriteableRegistry registry, RestController restController,
            ClusterSettings clusterSettings, IndexScopedSettings indexScopedSettings, SettingsFilter settingsFilter,
            IndexNameExpressionResolver resolver, Supplier<DiscoveryNodes> nodesInCluster, Predicate<NodeFeature> clusterSupportsFeature) {
        return List.of(new RootHandler(), new GetDataStreamHandler(), new DeleteDataStreamHandler());
    }

    private List<DataStream> matching(ClusterState state, String names, boolean requireConcrete) {
        String[] patterns = names == null || names.isEmpty() || names.equals("_all") ? new String[] { "*" } : names.split(",");
        List<DataStream> out = new ArrayList<>();
        for (String p : patterns) {
            boolean found = false;
            for (DataStream ds : state.metadata().dataStreams().values()) {
                if (Regex.simpleMatch(p, ds.getName())) {
                    found = true;
                    if (out.contains(ds) == false) out.add(ds);
                }
            }
            if (requireConcrete && found == false && Regex.isSimpleMatchPattern(p) == false) {
                throw new ResourceNotFoundException("data_stream [" + p + "] not found");
            }
        }
        return out;
    }

    private class RootHandler extends BaseRestHandler {
        public String getName() { return "esnode_root"; }

        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            return channel -> {
                Build build = Build.current();
                ClusterState state = clusterService.state();
                XContentBuilder b = channel.newBuilder();
                b.startObject();
                b.field("name", clusterService.getNodeName());
                b.field("cluster_name", state.getClusterName().value());
                b.field("cluster_uuid", state.metadata().clusterUUID());
                b.startObject("version");
                b.field("number", build.qualifiedVersion());
                b.field("build_flavor", build.flavor());
                b.field("build_type", build.type().displayName());
                b.field("build_hash", build.hash());
                b.field("build_date", build.date());
                b.field("build_snapshot", build.isSnapshot());
                b.field("lucene_version", IndexVersion.current().luceneVersion().toString());
                b.field("minimum_wire_compatibility_version", build.minWireCompatVersion());
                b.field("minimum_index_compatibility_version", build.minIndexCompatVersion());
                b.endObject();
                b.field("tagline", "You Know, for Search");
                b.endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            };
        }
    }

    private class GetDataStreamHandler extends BaseRestHandler {
        public String getName() { return "esnode_get_data_stream"; }

        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/_data_stream"), new Route(RestRequest.Method.GET, "/_data_stream/{name}"));
        }

        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            String names = request.param("name");
            return channel -> {
                List<DataStream> found;
                try {
                    found = matching(clusterService.state(), names, true);
                } catch (ResourceNotFoundException e) {
                    channel.sendResponse(new RestResponse(channel, e));
                    return;
                }
                XContentBuilder b = channel.newBuilder();
                b.startObject().startArray("data_streams");
                for (DataStream ds : found) {
                    b.startObject();
                    b.field("name", ds.getName());
                    b.startObject("timestamp_field").field("name", DataStream.TIMESTAMP_FIELD_NAME).endObject();
                    b.startArray("indices");
                    for (Index i : ds.getIndices()) {
                        b.startObject().field("index_name", i.getName()).field("index_uuid", i.getUUID()).endObject();
                    }
                    b.endArray();
                    b.field("generation", ds.getGeneration());
                    b.field("hidden", ds.isHidden());
                    b.field("system", ds.isSystem());
                    b.endObject();
                }
                b.endArray().endObject();
                channel.sendResponse(new RestResponse(RestStatus.OK, b));
            };
        }
    }

    private class DeleteDataStreamHandler extends BaseRestHandler {
        public String getName() { return "esnode_delete_data_stream"; }

        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.DELETE, "/_data_stream/{name}"));
        }

        protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
            String names = request.param("name");
            return channel -> clusterService.submitUnbatchedStateUpdateTask("esnode-delete-data-stream [" + names + "]",
                new ClusterStateUpdateTask(Priority.HIGH, TimeValue.timeValueSeconds(30)) {
                    @Override
                    public ClusterState execute(ClusterState current) {
                        Set<DataStream> ds = new LinkedHashSet<>(matching(current, names, true));
                        return ds.isEmpty() ? current : MetadataDataStreamsService.deleteDataStreams(current, ds, nodeSettings);
                    }

                    @Override
                    public void onFailure(Exception e) {
                        try {
                            channel.sendResponse(new RestResponse(channel, e));
                        } catch (Exception inner) {
                            e.addSuppressed(inner);
                        }
                    }

                    @Override
                    public void clusterStateProcessed(ClusterState before, ClusterState after) {
                        rerouteService.reroute("esnode data stream deleted", Priority.NORMAL, ActionListener.noop());
                        try {
                            channel.sendResponse(new RestResponse(RestStatus.OK,
                                channel.newBuilder().startObject().field("acknowledged", true).endObject()));
                        } catch (Exception e) {
                            onFailure(e);
                        }
                    }
                });
        }
    }
}
