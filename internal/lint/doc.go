// Package lint holds tests on the shape of the code base: the import
// direction of DESIGN.md's layers (a package imports only packages below
// it; nothing imports examples/, integration/ or cmd/).
package lint
