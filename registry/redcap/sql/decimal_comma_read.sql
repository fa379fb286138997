-- A number/calc column whose every value uses a decimal comma: the commas become points.
update raw set ${col} = replace(${col}, ',', '.') where contains(${col}, ',')
