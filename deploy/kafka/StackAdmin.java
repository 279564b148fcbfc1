// Tiny Kafka admin helper for deploy/stack.sh: one JVM start instead of one per topic.
//
//   java -cp '<classes>:<lib>/*' StackAdmin health   <bootstrap> <timeoutSec>
//   java -cp '<classes>:<lib>/*' StackAdmin ensure   <bootstrap> <timeoutSec> <spec>...
//   java -cp '<classes>:<lib>/*' StackAdmin describe <bootstrap> <timeoutSec> [topic...]
//
// spec = name:partitions[:key=value[,key=value...]]   e.g. riskwire.grades:8:cleanup.policy=compact
//
// "ensure" waits (up to timeoutSec) for the broker to answer a metadata request, creates
// missing topics (replication factor 1), sets the requested topic configs on existing topics
// and warns about partition-count mismatches (grows them only if RISKWIRE_GROW_PARTITIONS=1;
// never shrinks). Idempotent.
// Exit codes: 0 ok, 1 error, 2 usage, 3 broker not reachable within timeout.

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

public final class StackAdmin {

    /** Grow too-small topics only when asked: adding partitions remaps keys (bad for compacted topics). */
    private static final boolean GROW = "1".equals(System.getenv("RISKWIRE_GROW_PARTITIONS"));

    private static void log(String msg) {
        System.err.println("[stack] kafka: " + msg);
    }

    private static final class Spec {
        final String name;
        final int partitions;
        final Map<String, String> configs = new LinkedHashMap<>();

        Spec(String raw) {
            String[] parts = raw.split(":", 3);
            if (parts.length < 2 || parts[0].isEmpty()) {
                throw new IllegalArgumentException("bad topic spec: " + raw);
            }
            name = parts[0];
            partitions = Integer.parseInt(parts[1]);
            if (parts.length == 3 && !parts[2].isEmpty()) {
                for (String kv : parts[2].split(",")) {
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("bad config in spec " + raw + ": " + kv);
                    }
                    configs.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            }
        }
    }

    private static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "riskwire-stack-admin");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "100");
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "200");
        return Admin.create(p);
    }

    /** Wait until the cluster answers describeCluster with at least one node. */
    private static boolean awaitHealthy(Admin admin, long deadlineNanos) throws InterruptedException {
        Throwable last = null;
        while (System.nanoTime() < deadlineNanos) {
            try {
                long leftMs = Math.max(500, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
                Collection<?> nodes = admin.describeCluster().nodes().get(Math.min(leftMs, 5000), TimeUnit.MILLISECONDS);
                if (!nodes.isEmpty()) {
                    // A metadata round trip: listing topics proves the broker serves requests.
                    admin.listTopics().names().get(Math.min(leftMs, 5000), TimeUnit.MILLISECONDS);
                    return true;
                }
            } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                last = e.getCause() != null ? e.getCause() : e;
            }
            Thread.sleep(250);
        }
        log("broker not healthy before timeout" + (last != null ? " (" + last + ")" : ""));
        return false;
    }

    private static int ensure(Admin admin, List<Spec> specs) throws Exception {
        Set<String> existing = admin.listTopics().names().get();

        List<NewTopic> toCreate = new ArrayList<>();
        for (Spec s : specs) {
            if (!existing.contains(s.name)) {
                toCreate.add(new NewTopic(s.name, Optional.of(s.partitions), Optional.of((short) 1)).configs(s.configs));
            }
        }
        int created = 0;
        if (!toCreate.isEmpty()) {
            Map<String, ? extends org.apache.kafka.common.KafkaFuture<Void>> res = admin.createTopics(toCreate).values();
            for (Map.Entry<String, ? extends org.apache.kafka.common.KafkaFuture<Void>> e : res.entrySet()) {
                try {
                    e.getValue().get();
                    created++;
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof TopicExistsException)) {
                        throw ex;
                    }
                }
            }
        }

        // Reconcile existing topics: grow partitions, apply configs.
        List<String> names = new ArrayList<>();
        for (Spec s : specs) {
            names.add(s.name);
        }
        Map<String, TopicDescription> desc = admin.describeTopics(names).allTopicNames().get();
        Map<String, NewPartitions> grow = new HashMap<>();
        Map<ConfigResource, Collection<AlterConfigOp>> alter = new HashMap<>();
        for (Spec s : specs) {
            TopicDescription d = desc.get(s.name);
            int have = d.partitions().size();
            if (have < s.partitions && GROW) {
                grow.put(s.name, NewPartitions.increaseTo(s.partitions));
                log("growing " + s.name + " from " + have + " to " + s.partitions + " partitions");
            } else if (have != s.partitions) {
                log("WARNING: " + s.name + " has " + have + " partitions, wanted " + s.partitions
                        + "; leaving as is (reset the stack, or set RISKWIRE_GROW_PARTITIONS=1 to grow)");
            }
            if (!s.configs.isEmpty()) {
                List<AlterConfigOp> ops = new ArrayList<>();
                for (Map.Entry<String, String> c : s.configs.entrySet()) {
                    ops.add(new AlterConfigOp(new ConfigEntry(c.getKey(), c.getValue()), AlterConfigOp.OpType.SET));
                }
                alter.put(new ConfigResource(ConfigResource.Type.TOPIC, s.name), ops);
            }
        }
        if (!grow.isEmpty()) {
            admin.createPartitions(grow).all().get();
        }
        if (!alter.isEmpty()) {
            admin.incrementalAlterConfigs(alter).all().get();
        }
        log("topics ready: " + specs.size() + " ensured, " + created + " created");
        return 0;
    }

    private static int describe(Admin admin, List<String> wanted) throws Exception {
        Collection<String> names = wanted.isEmpty() ? admin.listTopics().names().get() : wanted;
        Map<String, TopicDescription> desc = new TreeMap<>(admin.describeTopics(names).allTopicNames().get());
        List<ConfigResource> res = new ArrayList<>();
        for (String n : desc.keySet()) {
            res.add(new ConfigResource(ConfigResource.Type.TOPIC, n));
        }
        Map<ConfigResource, Config> cfg = admin.describeConfigs(res).all().get();
        for (TopicDescription d : desc.values()) {
            Config c = cfg.get(new ConfigResource(ConfigResource.Type.TOPIC, d.name()));
            ConfigEntry policy = c == null ? null : c.get("cleanup.policy");
            int rf = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
            System.out.printf("%s\tpartitions=%d\treplication=%d\tcleanup.policy=%s%n",
                    d.name(), d.partitions().size(), rf, policy == null ? "?" : policy.value());
        }
        return 0;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: StackAdmin health|ensure|describe <bootstrap> <timeoutSec> [args...]");
            System.exit(2);
        }
        String cmd = args[0];
        String bootstrap = args[1];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[2]));
        List<String> rest = new ArrayList<>();
        Collections.addAll(rest, args);
        rest = rest.subList(3, rest.size());

        int rc;
        try (Admin admin = admin(bootstrap)) {
            if (!awaitHealthy(admin, deadline)) {
                rc = 3;
            } else {
                switch (cmd) {
                    case "health":
                        rc = 0;
                        break;
                    case "ensure": {
                        List<Spec> specs = new ArrayList<>();
                        for (String r : rest) {
                            specs.add(new Spec(r));
                        }
                        rc = ensure(admin, specs);
                        break;
                    }
                    case "describe":
                        rc = describe(admin, rest);
                        break;
                    default:
                        System.err.println("unknown command: " + cmd);
                        rc = 2;
                }
            }
            admin.close(java.time.Duration.ofSeconds(2));
        } catch (ExecutionException e) {
            log("error: " + (e.getCause() != null ? e.getCause() : e));
            rc = 1;
        }
        System.exit(rc);
    }
}
