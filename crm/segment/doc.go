// Package segment groups customers into segments from their CRM
// aggregates (crm.CustomerStats) and describes each segment in words.
//
// The pipeline, run by Run:
//
//  1. Features (Extract): per customer, recency, frequency and monetary
//     value of their orders (RFM), tenure, and engagement with Parley:
//     conversations, escalation rate, mean sentiment and the share of
//     their messages with a purchase-type intent. Skewed counts and
//     amounts are log-transformed, then every feature is standardized
//     to z-scores.
//  2. Clustering: k-means (k-means++ seeding, several restarts, Lloyd
//     iterations accelerated with Hamerly's bounds, which give the same
//     result as plain Lloyd with fewer distance computations) for large
//     populations, agglomerative clustering with Ward linkage for small
//     ones. When k is not given it is chosen by the silhouette score.
//  3. A 2-D PCA projection for plotting, and profiles: each segment's
//     size and feature means against the population, turned into a short
//     name such as "high value, unhappy".
//
// The Result writes assignments for crm.Store.SaveSegments, an SVG
// scatter plot and a Markdown profile table.
//
// Everything is deterministic given Config.Seed: restarts run in
// parallel, each with its own seeded generator, and the best is picked by
// inertia with ties going to the first restart.
package segment
