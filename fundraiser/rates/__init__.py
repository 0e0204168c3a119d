"""Exchange rates (issue 19): a table of reference rates against the euro,
the import of the European Central Bank's CSV, and converting a sum of
money with a rate that is then stored with the gift."""
