// Package conversion scores CRM customers by how likely they are to
// convert (place an order) soon: lead scoring.
//
// It has four parts:
//
//   - A small tabular-data layer: Dataset (feature names, rows, labels),
//     StratifiedSplit, and ReadCSV, which one-hot encodes categorical
//     columns, drops columns and maps a yes/no target to bool, naming
//     file:line for malformed rows.
//   - CRM features: Snapshot builds a labelled Dataset from a crm.Store as
//     of a time T (label: at least one order in [T, T+horizon)), and
//     Features builds the same features for scoring customers now;
//     ScoreCustomers turns a model's scores into crm.LeadScores. The
//     features and their meaning are listed at FeatureNames.
//   - Two model families behind one interface, Model: an L2-regularized
//     logistic regression (LogisticConfig, fitted with gonum's L-BFGS on
//     the exact log loss) and histogram gradient-boosted trees
//     (GBTConfig, with scikit-learn's HistGradientBoostingClassifier
//     defaults). Both explain a score: Explain lists the features that
//     drove it, sorted by size, and their effects plus Base add up to the
//     log-odds.
//   - Evaluation: AUC (exact, with ties), LogLoss, Brier and a
//     Calibration table; Evaluate runs them all on a Dataset.
//
// Models are immutable once fitted or decoded, so Prob, Logit and Explain
// are safe for concurrent use. Fitting is deterministic: the same data,
// configuration and seed give the same model, byte for byte, whatever the
// number of workers.
//
// # Model files
//
// WriteTo writes a model and Decode reads one back. A model file is
// untrusted input: Decode bounds its size, checks a checksum and validates
// every field (finite weights, tree structure, feature count), and a
// corrupt file is an error wrapping ErrCorrupt, never a panic. Byte by
// byte:
//
//	offset  size  field
//	0       8     magic "PARLEYCV"
//	8       2     format version, uint16 little-endian (FormatVersion)
//	10      4     payload length N, uint32 little-endian (<= MaxModelBytes)
//	14      N     payload: one JSON object (see below)
//	14+N    4     CRC-32 (IEEE) of every preceding byte, little-endian
//
// The payload is {"info": Info, "logistic": {...}} or {"info": Info,
// "gbt": {...}}: the header (kind, feature names, examples, positives,
// training-data hash, seed) and the family's configuration and
// parameters (logistic: means, scales, weights, intercept; gbt:
// baseline and trees as parallel arrays of node fields, see treeParams).
// Unknown fields are an error. JSON keeps the files readable and
// encodes float64 values exactly (Go writes the shortest representation
// that reads back to the same bits); the models are small (100 trees of
// 31 leaves on the bank-marketing data: 200 KB; a logistic regression of
// 54 features: 4.5 KB), so a binary encoding would buy little.
package conversion
