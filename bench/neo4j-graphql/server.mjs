// The peer for bench/query.py: @neo4j/graphql (v7) over the bench store's Event nodes, served by Apollo Server.
// The typeDefs map the Event node as graph/ingest.py stores it (search keys under f_*, epoch-ms `ts`, the verbatim
// event as the `raw` JSON string); @alias gives the f_* properties readable names. No authorization rules: the
// benchmark passes the organization in `where`, as insightgraph scopes every query to one organization.
//
//   NEO4J_URI=bolt://127.0.0.1:7700 PORT=8766 node server.mjs
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

const typeDefs = /* GraphQL */ `
  type Event @node {
    id: ID!
    organization: String!
    event_type: String!
    service: String!
    "epoch milliseconds (UTC)"
    ts: BigInt!
    "the event's timestamp text as received"
    timestamp: String
    success: Boolean @alias(property: "f_success")
    mfa: Boolean @alias(property: "f_mfa")
    clientIp: String @alias(property: "f_client_ip")
    country: String @alias(property: "f_geoip_country_code")
    initiatorId: String @alias(property: "f_initiated_by_id")
    initiatorUsername: String @alias(property: "f_initiated_by_username")
    username: String @alias(property: "f_username")
    raw: String
  }
`;

const uri = process.env.NEO4J_URI ?? "bolt://127.0.0.1:7700";
const port = Number(process.env.PORT ?? 8766);
const driver = neo4j.driver(uri, neo4j.auth.basic("neo4j", "unused"), { maxConnectionPoolSize: 50 });
const schema = await new Neo4jGraphQL({ typeDefs, driver }).getSchema();
const server = new ApolloServer({ schema, introspection: true });
const { url } = await startStandaloneServer(server, { listen: { port, host: "127.0.0.1" } });
console.log(`@neo4j/graphql ready at ${url}`);

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, async () => {
    await server.stop();
    await driver.close();
    process.exit(0);
  });
}
