package main

import (
	"context"
	"io"
)

type serveCommand struct{ stdout, stderr io.Writer }

func (c *serveCommand) Run(ctx context.Context, args []string) error { return errNoModel }

type trainCommand struct{ stdout, stderr io.Writer }

func (c *trainCommand) Run(ctx context.Context, args []string) error { return errNoModel }

type predictCommand struct{ stdout, stderr io.Writer }

func (c *predictCommand) Run(ctx context.Context, args []string) error { return errNoModel }

type dataCommand struct{ stdout, stderr io.Writer }

func (c *dataCommand) Run(ctx context.Context, args []string) error { return errNoModel }
