// Package forest is Parley's random forest: bagged Gini decision trees
// over the same sparse hashed word and character n-gram TF-IDF features
// as package svm, grown for sparsity, with probabilities calibrated on
// out-of-bag votes. Trained models are immutable and safe for
// concurrent use.
//
// Each tree sees a bootstrap sample of the training examples and grows
// until its leaves are pure (or Config.MaxDepth, Config.MinLeaf stop
// it). At each node it draws Config.MaxFeatures candidate columns
// uniformly from those present but not constant in the node's examples:
// with ~40k sparse columns, almost every column is zero throughout any
// one node. Large nodes draw columns at random and check them against
// the column's posting list; small ones list their rows' columns, which
// is cheaper there. Each candidate splits "absent vs present" (TF-IDF
// values are positive, so the test is value > 0); the split with the
// lowest weighted Gini impurity wins. Leaves keep their class
// distribution. Trees grow in parallel, each from its own generator
// derived from the seed and the tree's index, so a seed gives the same
// forest on any number of workers.
//
// The forest's raw output is the trees' mean class distribution (the
// votes). Its probabilities are softmax(log(votes + s) / T): the
// smoothing s, from a small grid, and the temperature T, from
// intents.FitTemperature, minimize the negative log-likelihood of the
// out-of-bag votes (each training example voted on only by the trees
// that did not see it); the out-of-scope threshold is chosen by
// intents.ChooseThreshold on Config.Validation when given, else on the
// out-of-bag votes (when the data has out-of-scope examples, label
// intents.OOS).
//
// Payload format (after the artifact header, see intents.WriteArtifact;
// lists are a uint32 length then the values, all little-endian):
//
//	vectorizer   nlp.Vectorizer.WriteTo
//	temperature  float64 T
//	smoothing    float64 s
//	classes      uint32 C, equal to the header's label count
//	prior        float64s (C): training class frequencies, the answer
//	             for a message with no known features
//	tree starts  int32s (trees+1): tree t is nodes start[t]..start[t+1]-1;
//	             starts at 0, ends at the node count N
//	feature      int32s (N): the column a node tests, -1 for a leaf
//	threshold    float32s (N): go left when value <= threshold (an absent
//	             column has value 0, so threshold 0 is "absent vs present");
//	             0 for a leaf
//	left         int32s (N): left child; for a leaf, its leaf index,
//	             leaves numbered 0, 1, ... in node order
//	right        int32s (N): right child; -1 for a leaf
//	leaf ptr     int32s (L+1): leaf l's entries are ptr[l]..ptr[l+1]-1
//	leaf class   int32s (E): classes with votes, increasing within a leaf
//	leaf prob    float32s (E): the leaf's probability of each such class
//
// Node indices are global; children come after their parent and inside
// its tree, which Decode checks along with every other index, so any
// walk ends at a leaf. Fit numbers each tree's nodes in preorder, left
// child first, so the usual walk (columns absent, going left) reads
// memory in sequence; Decode does not rely on that order.
package forest
