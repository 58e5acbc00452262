package scimevidence.esnode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.EsRunnerNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

/**
 * One real Elasticsearch 8 node in this JVM, plain HTTP on 127.0.0.1, no security.
 * Usage: java -cp CLASSES:DEPS scimevidence.esnode.EsNode HOME HTTP_PORT [CLUSTER_NAME] [setting=value ...]
 * HTTP_PORT 0 picks a free port; the bound one is printed ("ESNODE STARTED http=127.0.0.1:PORT")
 * and written to HOME/logs/http.ports (left behind after exit). Data lives in HOME/data.
 * Runs until SIGTERM (SIGINT too, unless the launching shell made it ignored), then closes the node.
 * With ESNODE_EXIT_ON_STDIN_EOF=1 it also stops when its stdin closes: a test runner holds the
 * pipe's other end, so the node dies with the runner even when that is killed with SIGKILL.
 */
public class EsNode {
    public static void main(String[] args) throws Exception {
        System.setProperty("log4j.shutdownHookEnabled", "false");
        System.setProperty("log4j2.disable.jmx", "true");
        Path home = Path.of(args[0]).toAbsolutePath();
        String httpPort = args[1];
        String cluster = args.length > 2 ? args[2] : "scim-evidence-test";
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("logs"));
        Settings.Builder b = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", cluster)
            .put("node.name", "node-1")
            .put("node.portsfile", true)
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "0")
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("logger.level", "INFO");
        for (int i = 3; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            b.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Settings settings = b.build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("node-1");
        LogConfigurator.setClusterName(cluster);
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);
        Node node = new EsRunnerNode(
            InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "node-1"),
            List.of(Netty4Plugin.class, EsNodeRestPlugin.class));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                System.out.println("ESNODE STOPPED");
                System.out.flush();
                stopped.countDown();
            }
        }, "esnode-shutdown"));
        if ("1".equals(System.getenv("ESNODE_EXIT_ON_STDIN_EOF"))) {
            Thread watch = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {
                        // drain: only end of file matters
                    }
                } catch (Exception e) {
                    // a broken pipe means the parent is gone too
                }
                System.exit(0);
            }, "esnode-stdin-watch");
            watch.setDaemon(true);
            watch.start();
        }
        node.start();
        var http = node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        System.out.println("ESNODE STARTED http=" + http.getAddress() + ":" + http.getPort());
        System.out.flush();
        stopped.await();
    }
}
