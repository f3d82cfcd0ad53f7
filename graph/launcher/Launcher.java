import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Runs Neo4j Community embedded with its Bolt connector, so the Python side talks to it exactly as it would to a
 * server or a cluster. Usage: java Launcher HOME CONFIG_FILE (a neo4j.conf written by the Python side). Prints "READY" once the
 * default database answers; SIGTERM shuts the DBMS down cleanly, which checkpoints the store.
 */
public final class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Launcher HOME CONFIG_FILE");
            System.exit(2);
        }
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(Path.of(args[0]))
                .loadPropertiesFromFile(Path.of(args[1]))
                .build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("STOPPING");
            System.out.flush();
            dbms.shutdown();
            System.out.println("STOPPED");
            System.out.flush();
            stopped.countDown();
        }));
        GraphDatabaseService db = dbms.database("neo4j");
        db.executeTransactionally("RETURN 1");
        System.out.println("READY");
        System.out.flush();
        stopped.await();
    }
}
