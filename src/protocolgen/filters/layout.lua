-- Page layout for protocolgen documents: `::: pagebreak` and `::: landscape` divs.
-- Raw output is produced here (not in the markdown), so study text can never inject any.
local A4 = {w = 11906, h = 16838}
local MARGIN = '<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" ' ..
  'w:header="567" w:footer="567" w:gutter="0"/>'

local function section_break(landscape)
  local size
  if landscape then
    size = string.format('<w:pgSz w:w="%d" w:h="%d" w:orient="landscape"/>', A4.h, A4.w)
  else
    size = string.format('<w:pgSz w:w="%d" w:h="%d"/>', A4.w, A4.h)
  end
  return pandoc.RawBlock('openxml',
    '<w:p><w:pPr><w:sectPr>' .. size .. MARGIN .. '</w:sectPr></w:pPr></w:p>')
end

local TOC_FIELD = '<w:p><w:pPr><w:pStyle w:val="TOCHeading"/></w:pPr><w:r><w:t>Table of contents</w:t></w:r></w:p>' ..
  '<w:p><w:r><w:fldChar w:fldCharType="begin" w:dirty="true"/></w:r>' ..
  '<w:r><w:instrText xml:space="preserve"> TOC \\o "1-3" \\h \\z \\u </w:instrText></w:r>' ..
  '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' ..
  '<w:r><w:t>Right-click and choose Update Field to build the table of contents.</w:t></w:r>' ..
  '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>' ..
  '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'

local function div(el)
  if el.classes:includes('toc') then
    if FORMAT == 'docx' then
      return pandoc.RawBlock('openxml', TOC_FIELD)
    elseif FORMAT == 'typst' then
      return pandoc.RawBlock('typst', '#pagebreak(weak: true)\n#outline(title: [Table of contents], depth: 3)\n#pagebreak()')
    end
    return {}
  end
  if el.classes:includes('pagebreak') then
    if FORMAT == 'docx' then
      return pandoc.RawBlock('openxml', '<w:p><w:r><w:br w:type="page"/></w:r></w:p>')
    elseif FORMAT == 'typst' then
      return pandoc.RawBlock('typst', '#pagebreak(weak: true)')
    elseif FORMAT:match('html') then
      return pandoc.RawBlock('html', '<div class="pagebreak"></div>')
    end
    return {}
  end
  if el.classes:includes('landscape') then
    local blocks = pandoc.List()
    if FORMAT == 'docx' then
      blocks:insert(section_break(false))   -- ends the portrait section before
      blocks:extend(el.content)
      blocks:insert(section_break(true))    -- ends this landscape section
      return blocks
    elseif FORMAT == 'typst' then
      blocks:insert(pandoc.RawBlock('typst', '#page(flipped: true)['))
      blocks:extend(el.content)
      blocks:insert(pandoc.RawBlock('typst', ']'))
      return blocks
    end
    return el.content
  end
end


-- Redlines: HTML styles the spans with CSS; typst needs explicit marks. Each top-level block
-- holding a change gets a bar in the margin.
local function has_change(block)
  local found = false
  pandoc.walk_block(block, {Span = function(s)
    if s.classes:includes('insertion') or s.classes:includes('deletion') then found = true end
  end})
  return found
end

local function mark_blocks(doc)
  if FORMAT ~= 'typst' then return nil end
  local out = pandoc.List()
  for _, block in ipairs(doc.blocks) do
    if block.t ~= 'RawBlock' and block.t ~= 'Header' and has_change(block) then
      out:insert(pandoc.RawBlock('typst',
        '#block(stroke: (left: 1.5pt + rgb("#b00020")), outset: (left: 7pt), width: 100%)['))
      out:insert(block)
      out:insert(pandoc.RawBlock('typst', ']'))
    else
      out:insert(block)
    end
  end
  doc.blocks = out
  return doc
end

local function span(el)
  if FORMAT ~= 'typst' then return nil end
  local open
  if el.classes:includes('insertion') then
    open = '#text(fill: rgb("#0b5cad"))[#underline['
  elseif el.classes:includes('deletion') then
    open = '#text(fill: rgb("#b00020"))[#strike['
  else
    return nil
  end
  local out = pandoc.List({pandoc.RawInline('typst', open)})
  out:extend(el.content)
  out:insert(pandoc.RawInline('typst', ']]'))
  return out
end

return {{Div = div}, {Pandoc = mark_blocks}, {Span = span}}
